
Binput_2Jƒ2

Boutput_0Jƒ2

Boutput_0Jƒ¹

Boutput_0Jсп
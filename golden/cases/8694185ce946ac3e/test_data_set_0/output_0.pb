
Boutput_0Jy8
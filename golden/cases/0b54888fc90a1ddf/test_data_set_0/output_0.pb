
Boutput_0JE=
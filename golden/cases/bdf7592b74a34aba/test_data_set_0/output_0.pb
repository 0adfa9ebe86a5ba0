
Boutput_0Jí½

Boutput_0JB<

Boutput_0Jh8

Boutput_0Jа┤ио
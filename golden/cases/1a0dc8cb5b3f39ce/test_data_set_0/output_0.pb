
Boutput_0J2Á
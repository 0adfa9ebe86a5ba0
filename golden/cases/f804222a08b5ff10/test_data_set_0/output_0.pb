
Boutput_0J»:6 µ½

Boutput_0J4ºj=Ş½

Binput_0J4ºj=Ş½<*1µ­

Binput_0Jî836

Binput_0J8Ø<
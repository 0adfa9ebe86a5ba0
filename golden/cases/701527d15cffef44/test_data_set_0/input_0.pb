
Binput_0J9°
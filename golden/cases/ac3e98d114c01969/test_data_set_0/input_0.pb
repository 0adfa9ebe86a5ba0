
Binput_0J}>
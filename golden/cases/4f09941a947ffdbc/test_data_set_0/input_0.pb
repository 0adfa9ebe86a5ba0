
Binput_0Jh8

Binput_0Jk»
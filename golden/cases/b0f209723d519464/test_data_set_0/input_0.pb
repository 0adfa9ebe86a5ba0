
Binput_0J˜B

Binput_0J³¸¹

Binput_0J<¹
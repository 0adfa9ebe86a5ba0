
Binput_0J-F'¾
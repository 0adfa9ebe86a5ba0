
Binput_0J-F©Ä-F	1
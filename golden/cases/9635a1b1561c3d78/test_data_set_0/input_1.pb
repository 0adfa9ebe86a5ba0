
Binput_1JK³©Ùµ?
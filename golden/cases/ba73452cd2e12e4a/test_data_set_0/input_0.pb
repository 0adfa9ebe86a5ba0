
Binput_0J…<å¡š½
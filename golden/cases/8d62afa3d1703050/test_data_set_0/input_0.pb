
Binput_0J1¼Ã*
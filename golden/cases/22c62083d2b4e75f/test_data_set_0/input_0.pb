
Binput_0Jĺ
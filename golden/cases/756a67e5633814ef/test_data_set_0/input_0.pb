
Binput_0Jà8<
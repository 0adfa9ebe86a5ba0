
Binput_0Jš=v½
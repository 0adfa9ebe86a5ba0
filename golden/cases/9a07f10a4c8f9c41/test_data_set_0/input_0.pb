
Binput_0Jš;i»
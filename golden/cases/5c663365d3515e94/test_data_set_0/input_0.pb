
Binput_0Js±
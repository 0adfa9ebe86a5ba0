
Binput_0J€D€D

Binput_0J÷F`À
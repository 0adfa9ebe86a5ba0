
Binput_0JÔÆE
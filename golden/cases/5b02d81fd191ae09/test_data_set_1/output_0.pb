
Boutput_0JÔÆE
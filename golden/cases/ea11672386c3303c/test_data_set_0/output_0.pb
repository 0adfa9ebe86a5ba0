
Boutput_0J5

Boutput_0J*9
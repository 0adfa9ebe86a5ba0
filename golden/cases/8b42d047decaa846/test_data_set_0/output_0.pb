
Boutput_0Jš»
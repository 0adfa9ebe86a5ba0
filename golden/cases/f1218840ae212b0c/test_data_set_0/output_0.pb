
Boutput_0Jß?
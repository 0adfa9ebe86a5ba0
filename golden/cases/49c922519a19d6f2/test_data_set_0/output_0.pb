
Boutput_0J7
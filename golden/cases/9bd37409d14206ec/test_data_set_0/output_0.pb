
Boutput_0Jî836
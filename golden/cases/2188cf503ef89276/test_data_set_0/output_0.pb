
Boutput_0Jนท
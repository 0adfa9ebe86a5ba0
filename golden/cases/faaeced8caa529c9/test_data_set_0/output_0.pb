
Boutput_0J-F'¾
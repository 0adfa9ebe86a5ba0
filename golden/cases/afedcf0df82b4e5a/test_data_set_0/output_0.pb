
Boutput_0J#`ƒD
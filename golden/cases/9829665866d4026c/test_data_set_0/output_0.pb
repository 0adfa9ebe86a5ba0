
Boutput_0Jô­ïG
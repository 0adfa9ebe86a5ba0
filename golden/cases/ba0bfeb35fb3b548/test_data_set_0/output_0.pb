
Boutput_0Jw=6 Õß
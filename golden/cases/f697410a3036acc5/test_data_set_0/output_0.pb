
Boutput_0Jˆ><Z@í@
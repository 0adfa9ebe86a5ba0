
Boutput_0J™9i5€0

Boutput_0Jä¾‰5½;M¼„>
Boutput_0J˜†‡§
æ¿
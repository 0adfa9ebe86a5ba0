Boutput_1JH÷B¿Ò©ÅÀ;yŸ¿ı
¿

Boutput_0J0O<O<O<O<􈋄􈋄悍悍悍悍::::H+H+H+H+C(C(C(C(